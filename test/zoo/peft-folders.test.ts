import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { FileFormatError, MissingResourceError } from '../../src/errors';
import { savePeftAdapter } from '../../src/io/peft-adapter';
import { VisionTransformer } from '../../src/model';
import { addPeftAdapters, loadZoo, readZooManifest, zooEntryFile, type Zoo } from '../../src/zoo';
import { useSyntheticZoo } from './fixtures';

const made = useSyntheticZoo('peft-folders-');

/** Each LoRA of the built zoo saved as a PEFT adapter directory (with its head) in `<dir>/<id>/`. */
function exportAsPeft(zoo: Zoo, dir: string): void {
  for (const e of zoo.entries) {
    const head = { weight: e.head!.weight, bias: e.head!.bias };
    savePeftAdapter(path.join(dir, e.id), { parameters: e.parameters, head, classIds: e.classIds, metadata: {} });
  }
}

function expectSameEntries(found: Zoo, expected: Zoo): void {
  expect(found.entries.map((e) => e.id)).toEqual(expected.entries.map((e) => e.id));
  found.entries.forEach((e, i) => {
    const want = expected.entries[i];
    expect(e.classIds).toEqual(want.classIds);
    expect(e.parameters.scale).toBe(want.parameters.scale);
    expect(e.parameters.factors.map((f) => f.site)).toEqual(want.parameters.factors.map((f) => f.site));
    e.parameters.factors.forEach((f, j) => expect(f.b.arraySync()).toEqual(want.parameters.factors[j].b.arraySync()));
    expect(e.head!.weight.arraySync()).toEqual(want.head!.weight.arraySync());
    expect(e.head!.bias.arraySync()).toEqual(want.head!.bias.arraySync());
  });
}

describe('a directory of PEFT adapter directories is a zoo (no zoo.json)', () => {
  it('loads one LoRA per subdirectory, in name order, with its head and classes, and resolves each id to its directory', () => {
    const dir = path.join(made.tmp, 'peft-zoo');
    exportAsPeft(made.zoo, dir);
    fs.mkdirSync(path.join(dir, 'notes')); // not an adapter: passed over
    const zoo = loadZoo(dir, made.backbone);
    expectSameEntries(zoo, made.zoo);
    expect(zooEntryFile(dir, made.zoo.entries[1].id)).toBe(path.resolve(dir, made.zoo.entries[1].id));
    expect(readZooManifest(dir)).toBeUndefined(); // nothing written
    zoo.dispose();

    const one = loadZoo(path.join(dir, made.zoo.entries[0].id), made.backbone); // an adapter directory itself: a zoo of one
    expect(one.entries.map((e) => e.id)).toEqual([made.zoo.entries[0].id]);
    one.dispose();

    const linked = path.join(made.tmp, 'linked'); // links to adapters kept elsewhere, under other names
    fs.mkdirSync(linked);
    fs.symlinkSync(path.join(dir, made.zoo.entries[1].id), path.join(linked, 'second'));
    const viaLink = loadZoo(linked, made.backbone);
    expect(viaLink.entries.map((e) => e.id)).toEqual(['second']);
    expect(viaLink.entries[0].classIds).toEqual(made.zoo.entries[1].classIds);
    viaLink.dispose();
  });

  it('keeps the heads and classes of PEFT adapters added to a zoo.json', () => {
    const dir = path.join(made.tmp, 'peft-zoo');
    const listed = path.join(made.tmp, 'listed');
    addPeftAdapters(
      listed,
      made.backbone,
      made.zoo.entries.map((e) => ({ id: e.id, path: path.join(dir, e.id) })),
    );
    expect(readZooManifest(listed)!.entries.map((e) => e.classIds)).toEqual(made.zoo.entries.map((e) => e.classIds));
    const zoo = loadZoo(listed, made.backbone);
    expectSameEntries(zoo, made.zoo);
    zoo.dispose();
  });

  it('names what is missing in a directory with neither zoo.json nor adapters, and refuses adapters of another backbone', () => {
    const empty = fs.mkdtempSync(path.join(made.tmp, 'empty-'));
    expect(() => loadZoo(empty, made.backbone)).toThrow(MissingResourceError);
    expect(() => loadZoo(empty, made.backbone)).toThrow(/no zoo\.json .* and no PEFT adapter directories/);
    const wider = VisionTransformer.random({ ...made.backbone.config, width: 32, projectionDim: 32 }, 1);
    expect(() => loadZoo(path.join(made.tmp, 'peft-zoo'), wider)).toThrow(FileFormatError);
    expect(() => loadZoo(path.join(made.tmp, 'peft-zoo'), wider)).toThrow(/lora-0000.*the backbone needs lora_A \[2, 32\]/);
    wider.dispose();
  });
});
