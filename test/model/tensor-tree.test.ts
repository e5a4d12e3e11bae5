import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileFormatError } from '../../src/errors';
import { flattenTree, mapTree, randomViTWeights, treeFromNamed, treeTensors, variablesOf } from '../../src/model';
import { TEST_VIT } from './tiny-config';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the tensor-tree walker', () => {
  it("names a ViT's tensors by dotted path in the order ViTWeights declares them (the order backboneFingerprint hashes)", () => {
    const weights = randomViTWeights(TEST_VIT, 1);
    const names = Object.keys(flattenTree(weights));
    expect(names.slice(0, 5)).toEqual(['patchEmbedding', 'classEmbedding', 'positionEmbedding', 'preLayerNorm.gamma', 'preLayerNorm.beta']);
    expect(names.slice(5, 9)).toEqual(['blocks.0.ln1.gamma', 'blocks.0.ln1.beta', 'blocks.0.q.kernel', 'blocks.0.q.bias']);
    expect(names.slice(-3)).toEqual(['postLayerNorm.gamma', 'postLayerNorm.beta', 'projection']);
    expect(treeTensors(weights)).toEqual(Object.values(flattenTree(weights)));
    tf.dispose(treeTensors(weights));
  });

  it('maps every tensor, keeps the structure and skips an absent bias', () => {
    const tree = { layer: { kernel: tf.ones([2, 2]), bias: undefined }, list: [tf.zeros([1])] };
    const variables = variablesOf(tree);
    expect(variables.layer.kernel).toBeInstanceOf(tf.Variable);
    expect(Object.keys(variables.layer)).toEqual(['kernel']);
    expect(Object.keys(flattenTree(mapTree(tree, (t) => t)))).toEqual(['layer.kernel', 'list.0']);
    tf.dispose([...treeTensors(tree), ...treeTensors(variables)]);
  });

  it('rebuilds a tree from named tensors and names a missing or misfit one', () => {
    const template = { a: tf.zeros([2]), b: [tf.zeros([1, 3])] };
    const named = { a: tf.ones([2]), 'b.0': tf.ones([1, 3]) };
    expect(treeFromNamed(template, named).b[0]).toBe(named['b.0']);
    expect(() => treeFromNamed(template, { a: named.a }, 'x.safetensors')).toThrow(FileFormatError);
    expect(() => treeFromNamed(template, { ...named, a: tf.ones([3]) })).toThrow(/tensor "a": expected shape \[2\], found \[3\]/);
  });
});
