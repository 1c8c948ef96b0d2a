// `node --import tsx --import ./test/helpers/record-module-loads.mjs …`: prints `module-loaded <url>`
// on stderr for every module the ES module loader loads (CommonJS files imported from ES modules
// included), so a test can check what a command does not load.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(
      'export async function load(url, context, next) {' +
        "  process._rawDebug('module-loaded ' + url);" +
        '  return next(url, context);' +
        '}',
    ),
  import.meta.url,
);
