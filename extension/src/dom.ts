/**
 * The only way renderers build DOM: elements with attributes and text set through properties
 * (never innerHTML), so payload strings can never become markup.
 */
export type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const c of children) if (c) node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return node;
}

/** A canvas of cols×rows pixels darkening the dropped patches; CSS scales it over the image. */
export function maskCanvas(dropped: Array<[number, number]>, rows: number, cols: number): HTMLCanvasElement {
  const canvas = el('canvas', { class: 'lr-mask', 'aria-hidden': 'true' });
  drawMask(canvas, dropped, rows, cols);
  return canvas;
}

export function drawMask(canvas: HTMLCanvasElement, dropped: Array<[number, number]>, rows: number, cols: number): void {
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, cols, rows);
  ctx.fillStyle = '#000';
  for (const [r, c] of dropped) ctx.fillRect(c, r, 1, 1);
}

/** Reads a JupyterLab theme variable, with a fallback outside JupyterLab. */
export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}
