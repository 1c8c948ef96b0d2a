// prepack / postpack of the toolkit: the published package.json carries no `prepare` script.
//
// Why: `prepare` builds dist/ when a checkout runs `npm ci` (the README's first command needs it), but
// in a published package it is an install script. npm 11 lists it at every user's install ("install
// scripts not yet covered by allowScripts") and npm 12 blocks such scripts; the tarball already holds
// dist/, so users lose nothing without it. npm reads the lifecycle scripts after prepack, so a
// stripped manifest also keeps `npm pack` from rebuilding (publish builds in prepublishOnly).
//
//   node scripts/publish-manifest.mjs strip    keeps package.json in BACKUP, writes it without `prepare`
//   node scripts/publish-manifest.mjs restore  puts BACKUP back
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const MANIFEST = 'package.json';
const BACKUP = 'package.json.before-pack';
/** Scripts that npm runs on a consumer's install, and that only a checkout needs. */
const CHECKOUT_ONLY_SCRIPTS = ['prepare'];

function strip() {
  // A pack that failed after prepack leaves the backup behind; the checkout's own manifest is there.
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
  const text = readFileSync(MANIFEST, 'utf8');
  const manifest = JSON.parse(text);
  for (const name of CHECKOUT_ONLY_SCRIPTS) delete manifest.scripts?.[name];
  writeFileSync(BACKUP, text);
  // Written beside and renamed over, so a test reading package.json meanwhile never sees half a file.
  writeFileSync(`${MANIFEST}.tmp`, JSON.stringify(manifest, null, 2) + '\n');
  renameSync(`${MANIFEST}.tmp`, MANIFEST);
}

function restore() {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
}

const command = process.argv[2];
if (command === 'strip') strip();
else if (command === 'restore') restore();
else {
  console.error(`publish-manifest: unknown command ${JSON.stringify(command)}; use strip or restore`);
  process.exit(2);
}
