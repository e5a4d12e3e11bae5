import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import type { EvaluateEpisodesJob, InvertLoraJob } from '../../src/parallel';
import { codeVersion, fileDigest, jobContentId, redisConnection, withAbsolutePaths } from '../../src/queue';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'content-id-'));
  fs.mkdirSync(path.join(dir, 'backbone'));
  fs.writeFileSync(path.join(dir, 'backbone', 'model.safetensors'), 'weights');
  fs.writeFileSync(path.join(dir, 'backbone', 'config.json'), '{}');
  fs.writeFileSync(path.join(dir, 'a.safetensors'), 'lora a');
  fs.writeFileSync(path.join(dir, 'copy-of-a.safetensors'), 'lora a');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function job(extra: Partial<InvertLoraJob> = {}): InvertLoraJob {
  return {
    kind: 'invert-lora',
    id: 'x',
    backbone: path.join(dir, 'backbone'),
    lora: path.join(dir, 'a.safetensors'),
    output: path.join(dir, 'out'),
    options: { ways: 3, shots: 1, queries: 0, steps: 2, seed: 1 },
    ...extra,
  };
}

describe('jobContentId', () => {
  it('is the same for the same inputs, whatever the key order, and a sha256', () => {
    const reordered = {
      options: { seed: 1, steps: 2, queries: 0, shots: 1, ways: 3 },
      output: job().output,
      lora: job().lora,
      backbone: job().backbone,
      id: 'x',
      kind: 'invert-lora',
    } as InvertLoraJob;
    expect(jobContentId(job(), 'v1')).toBe(jobContentId(reordered, 'v1'));
    expect(jobContentId(job(), 'v1')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with the bytes of a file, the options, the seed, the id and the code version, not with the LoRA file name', () => {
    const base = jobContentId(job(), 'v1');
    expect(jobContentId(job({ options: { ...job().options, seed: 2 } }), 'v1')).not.toBe(base);
    expect(jobContentId(job({ options: { ...job().options, steps: 3 } }), 'v1')).not.toBe(base);
    expect(jobContentId(job({ id: 'y' }), 'v1')).not.toBe(base);
    expect(jobContentId(job(), 'v2')).not.toBe(base);
    expect(fileDigest(path.join(dir, 'copy-of-a.safetensors'))).toBe(fileDigest(path.join(dir, 'a.safetensors')));
    const weights = path.join(dir, 'backbone', 'model.safetensors');
    fs.writeFileSync(weights, 'other weights');
    expect(jobContentId(job(), 'v1')).not.toBe(base);
    fs.writeFileSync(weights, 'weights');
    expect(jobContentId(job(), 'v1')).toBe(base);
  });

  it("changes with the bytes of an inversion's generator file", () => {
    const generator = path.join(dir, 'generator.safetensors');
    fs.writeFileSync(generator, 'decoder');
    const withGenerator = jobContentId(job({ generator }), 'v1');
    expect(withGenerator).not.toBe(jobContentId(job(), 'v1'));
    fs.writeFileSync(generator, 'another decoder');
    expect(jobContentId(job({ generator }), 'v1')).not.toBe(withGenerator);
    const absolute = withAbsolutePaths(job({ generator: 'g.safetensors' }));
    expect(absolute.generator).toBe(path.resolve('g.safetensors'));
    expect(withAbsolutePaths(job())).not.toHaveProperty('generator');
  });

  it('names the package release as the code version', () => {
    expect(codeVersion()).toMatch(/^lora-recycle@\d+\.\d+\.\d+/);
  });
});

describe('withAbsolutePaths', () => {
  it('resolves every path of a job against the working directory, and changes nothing else', () => {
    const invert = withAbsolutePaths(job({ backbone: 'b', lora: 'l.safetensors', prior: 'p', output: 'out/x' }));
    expect([invert.backbone, invert.lora, invert.prior, invert.output]).toEqual(
      ['b', 'l.safetensors', 'p', 'out/x'].map((p) => path.resolve(p)),
    );
    expect(invert.options).toEqual(job().options);
    const evaluate = withAbsolutePaths<EvaluateEpisodesJob>({
      kind: 'evaluate-episodes',
      id: 'e',
      backbone: 'b',
      dataset: { loader: 'emoji', cacheDir: 'cache' },
      episodes: { dataset: 'd', seed: 1, episodes: [] } as never,
    });
    expect([evaluate.backbone, evaluate.lora, evaluate.dataset.cacheDir]).toEqual([path.resolve('b'), undefined, path.resolve('cache')]);
  });
});

describe('redisConnection', () => {
  it('reads host, port, credentials and database from a redis URL', () => {
    expect(redisConnection('redis://user:p%40ss@queue.local:6380/2')).toMatchObject({
      host: 'queue.local',
      port: 6380,
      username: 'user',
      password: 'p@ss',
      db: 2,
      maxRetriesPerRequest: null,
    });
    expect(redisConnection('redis://127.0.0.1')).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0 });
    expect(redisConnection('rediss://h:1')).toMatchObject({ tls: {} });
  });

  it('says what it expected of a bad URL', () => {
    expect(() => redisConnection('localhost:6379')).toThrow(ConfigError);
    expect(() => redisConnection('http://h:1')).toThrow(/redis:\/\/ or rediss:\/\/ URL, found protocol "http:"/);
    expect(() => redisConnection('redis://h:1/x')).toThrow(/database number, found "x"/);
  });
});
