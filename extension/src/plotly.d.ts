/** The part of plotly.js (bundled plotly.js-basic-dist-min) the curves renderer uses. */
declare module 'plotly.js-basic-dist-min' {
  export function react(
    root: HTMLElement,
    data: unknown[],
    layout: Record<string, unknown>,
    config?: Record<string, unknown>,
  ): Promise<HTMLElement>;
  export function purge(root: HTMLElement): void;
  export const Plots: { resize(root: HTMLElement): void };
}
