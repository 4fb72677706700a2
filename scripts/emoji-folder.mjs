// Lays out the Twemoji images of the npm package emoji-datasource-twitter as an image folder
// for the 64×64×3 quality check (issue #19, docs/QUALITY.md "emoji28"): one subfolder per
// emoji category (smileys-and-emotion, people-and-body, …), skin-tone variants included,
// 3 786 PNGs of 64×64 RGBA for version 16.0.0. The images are not part of this repository:
// fetch the package once (a development step, not something the app does), then run this.
//
//   npm pack emoji-datasource-twitter@16.0.0 && tar xzf emoji-datasource-twitter-16.0.0.tgz
//   node scripts/emoji-folder.mjs package /tmp/emoji64
//   vae-studio import /tmp/emoji64 --size 64 --channels 3
//
// Twemoji graphics: Twitter, Inc. and other contributors, CC-BY 4.0.
// Usage: node scripts/emoji-folder.mjs <package dir> <outDir>
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [pkg, outDir] = process.argv.slice(2);
if (!pkg || !outDir) {
  console.error('usage: node scripts/emoji-folder.mjs <emoji-datasource-twitter package dir> <outDir>');
  process.exit(2);
}
const listFile = join(pkg, 'emoji.json');
const images = join(pkg, 'img', 'twitter', '64');
if (!existsSync(listFile) || !existsSync(images)) {
  console.error(`${pkg}: not an extracted emoji-datasource-twitter package (needs emoji.json and img/twitter/64/)`);
  process.exit(1);
}
if (existsSync(outDir) && readdirSync(outDir).length > 0) {
  console.error(`${outDir}: exists and is not empty; give a new folder`);
  process.exit(1);
}

/** "Smileys & Emotion" → "smileys-and-emotion". */
const folderOf = (category) => category.replace(/&/g, 'and').trim().replace(/\s+/g, '-').toLowerCase();

const list = JSON.parse(readFileSync(listFile, 'utf8'));
const counts = new Map();
let missing = 0;
const place = (file, category) => {
  const from = join(images, file);
  if (!existsSync(from)) {
    missing++;
    return;
  }
  const folder = folderOf(category);
  mkdirSync(join(outDir, folder), { recursive: true });
  copyFileSync(from, join(outDir, folder, file));
  counts.set(folder, (counts.get(folder) ?? 0) + 1);
};
for (const emoji of list) {
  if (!emoji.has_img_twitter) continue;
  place(emoji.image, emoji.category);
  for (const variant of Object.values(emoji.skin_variations ?? {})) if (variant.has_img_twitter) place(variant.image, emoji.category);
}
const total = [...counts.values()].reduce((a, b) => a + b, 0);
console.log(`wrote ${total} images in ${counts.size} category folders to ${outDir}${missing ? ` (${missing} listed images missing)` : ''}`);
for (const [folder, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${folder}: ${n}`);
