import * as tf from '@tensorflow/tfjs';
import { FileFormatError } from '../errors';

/** A nested object/array of tensors such as ViTWeights. */
export type TensorTree = tf.Tensor | TensorTree[] | { [key: string]: TensorTree | undefined };

/** Every tensor of `tree` under a dotted path ("blocks.0.q.kernel"), in a stable order. */
export function flattenTree(tree: TensorTree, prefix = ''): Record<string, tf.Tensor> {
  if (tree instanceof tf.Tensor) return { [prefix]: tree };
  const out: Record<string, tf.Tensor> = {};
  const entries = Array.isArray(tree) ? tree.map((v, i) => [String(i), v] as const) : Object.entries(tree);
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    Object.assign(out, flattenTree(value, prefix ? `${prefix}.${key}` : key));
  }
  return out;
}

/**
 * A tree shaped like `template` whose tensors are taken from `named` (as flattenTree names them),
 * each checked against the template's shape. Throws FileFormatError naming a missing or misfit entry.
 */
export function treeFromNamed<T extends TensorTree>(template: T, named: Record<string, tf.Tensor>, source?: string, prefix = ''): T {
  if (template instanceof tf.Tensor) {
    const found = named[prefix];
    if (!found) throw new FileFormatError(source, `missing tensor "${prefix}" of shape [${template.shape}]`);
    if (found.shape.length !== template.shape.length || found.shape.some((s, i) => s !== template.shape[i])) {
      throw new FileFormatError(source, `tensor "${prefix}": expected shape [${template.shape}], found [${found.shape}]`);
    }
    return found as T;
  }
  if (Array.isArray(template)) {
    return template.map((v, i) => treeFromNamed(v, named, source, prefix ? `${prefix}.${i}` : String(i))) as T;
  }
  const out: { [key: string]: TensorTree | undefined } = {};
  for (const [key, value] of Object.entries(template)) {
    out[key] = value === undefined ? undefined : treeFromNamed(value, named, source, prefix ? `${prefix}.${key}` : key);
  }
  return out as T;
}

/** The same tree with every tensor replaced by a trainable tf.Variable holding its values. */
export function variablesOf<T extends TensorTree>(tree: T): T {
  if (tree instanceof tf.Tensor) return tf.variable(tree, true) as unknown as T;
  if (Array.isArray(tree)) return tree.map((v) => variablesOf(v)) as T;
  const out: { [key: string]: TensorTree | undefined } = {};
  for (const [key, value] of Object.entries(tree)) out[key] = value === undefined ? undefined : variablesOf(value);
  return out as T;
}
