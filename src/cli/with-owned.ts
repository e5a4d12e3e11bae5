/** Something that holds tensors (or other resources) until disposed. */
export interface Disposable {
  dispose(): void;
}

/** `own(x)` records `x` to be disposed when the body of withOwned ends; returns `x`. */
export type Own = <T extends Disposable>(resource: T) => T;

/**
 * Runs `body`, then disposes everything it handed to `own`, newest first, whether the body
 * returned or threw: a command frees its backbone, zoo and adapters even when it fails.
 */
export async function withOwned<T>(body: (own: Own) => Promise<T>): Promise<T> {
  const owned: Disposable[] = [];
  try {
    return await body((resource) => {
      owned.push(resource);
      return resource;
    });
  } finally {
    for (const resource of owned.reverse()) resource.dispose();
  }
}
