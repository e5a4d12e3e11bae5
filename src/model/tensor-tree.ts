import * as tf from '@tensorflow/tfjs';
import { FileFormatError } from '../errors';

/**
 * The one walker over tensor trees: nested plain objects and arrays whose leaves are tensors
 * (ViTWeights, PriorCnnWeights...). Undefined entries (an absent bias) are skipped. Keys are
 * walked in insertion order, so every tree this library builds (initialisation, loaders, mapTree)
 * lists its tensors in the order its interface declares them, the order backboneFingerprint hashes.
 * A tensor's name is its dotted path, e.g. "blocks.0.q.kernel".
 */
export function mapTree<T extends object>(tree: T, f: (tensor: tf.Tensor, name: string) => tf.Tensor): T {
  return mapNode(tree, f, '') as T;
}

function mapNode(node: unknown, f: (tensor: tf.Tensor, name: string) => tf.Tensor, name: string): unknown {
  if (node instanceof tf.Tensor) return f(node, name);
  const child = (key: string, value: unknown) => mapNode(value, f, name ? `${name}.${key}` : key);
  if (Array.isArray(node)) return node.map((value, i) => child(String(i), value));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node as object)) if (value !== undefined) out[key] = child(key, value);
  return out;
}

/** Every tensor of `tree` under its name, in walking order. */
export function flattenTree(tree: object): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  mapTree(tree, (tensor, name) => (out[name] = tensor));
  return out;
}

/** Every tensor of `tree`, in walking order (for disposal, counting and hashing). */
export function treeTensors(tree: object): tf.Tensor[] {
  return Object.values(flattenTree(tree));
}

/** The same tree with every tensor replaced by a trainable tf.Variable holding its values. */
export function variablesOf<T extends object>(tree: T): T {
  return mapTree(tree, (tensor) => tf.variable(tensor, true));
}

/**
 * A tree shaped like `template` whose tensors are taken from `named` (as flattenTree names them),
 * each checked against the template's shape. Throws FileFormatError naming a missing or misfit entry.
 */
export function treeFromNamed<T extends object>(template: T, named: Record<string, tf.Tensor>, source?: string): T {
  return mapTree(template, (expected, name) => {
    const found = named[name];
    if (!found) throw new FileFormatError(source, `missing tensor "${name}" of shape [${expected.shape}]`);
    if (found.shape.length !== expected.shape.length || found.shape.some((s, i) => s !== expected.shape[i])) {
      throw new FileFormatError(source, `tensor "${name}": expected shape [${expected.shape}], found [${found.shape}]`);
    }
    return found;
  });
}
