#!/usr/bin/env node
// Usage: node scripts/image/build-busybox-oci.mjs [--out FILE] [--name REF] [--busybox PATH]
// Prints {"path","digest","name","cached"} as JSON on stdout.
import { parseArgs } from 'node:util';
import { buildBusyboxOci } from './busybox-oci.mjs';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    name: { type: 'string' },
    busybox: { type: 'string' },
  },
});
const result = await buildBusyboxOci(values);
process.stdout.write(`${JSON.stringify(result)}\n`);
