import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { loadEmojiDataset } from '../../src/data';
import { episodeBundle } from '../../src/display';

/** A name with every emoji glyph (pictographs, flags, keycaps, modifiers, joiners, selectors) taken out. */
const withoutGlyphs = (name: string) =>
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point (joiner, selector, keycap mark) is removed on its own, on purpose
  name.replace(/[\p{Extended_Pictographic}\p{Emoji_Component}\p{Emoji_Presentation}\u{FE0F}\u{200D}\u{20E3}]/gu, ' ').trim();

describe('emoji class names', () => {
  it('say what the class is in words, so a view means the same where the emoji font is missing', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emoji-names-'));
    const emoji = await loadEmojiDataset({ limit: 2, cacheDir });
    fs.rmSync(cacheDir, { recursive: true, force: true });
    expect(emoji.classes.length).toBeGreaterThan(10);
    for (const c of emoji.classes) expect(withoutGlyphs(c.name), c.name).toMatch(/\p{L}{2,}/u);
    // the views write class names whole: the words travel with the glyph
    const classes = emoji.classes.slice(0, 2).map((c) => c.name);
    const bundle = episodeBundle({ classes, support: [], query: [] });
    for (const name of classes) {
      expect(bundle['text/plain']).toContain(name);
      expect(bundle['application/vnd.lora-recycle.episode+json']).toMatchObject({ classes });
    }
  });

  it('set-up installs a colour emoji font for Chromium (Debian fonts-noto-color-emoji)', () => {
    const setup = fs.readFileSync(path.join(__dirname, '..', '..', 'scripts', 'setup.sh'), 'utf8');
    const packages = /^apt_packages=\(([^)]*)\)/m.exec(setup)?.[1].split(/\s+/) ?? [];
    expect(packages).toContain('fonts-noto-color-emoji');
  });
});
