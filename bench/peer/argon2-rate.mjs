// The peer's argon2 library alone: argon2id verifications per second of one PHC hash
// (argv[2]) with argv[3] verifications in flight (default: one per core), for argv[4]
// seconds. Prints `RESULT {"node_argon2id_verifies_per_s": N}` for bench/run.sh.
import os from 'node:os';

import { verify } from '@node-rs/argon2';

const [phc, password] = [process.argv[2], process.argv[5] ?? 'Bench-Password-1'];
const inFlight = Number(process.argv[3] ?? os.availableParallelism());
const seconds = Number(process.argv[4] ?? 5);
let n = 0;
const start = Date.now();
const end = start + seconds * 1000;
async function loop() {
  while (Date.now() < end) {
    if (!(await verify(phc, password))) throw new Error('the hash does not verify');
    n += 1;
  }
}
await Promise.all(Array.from({ length: inFlight }, loop));
const rate = n / ((Date.now() - start) / 1000);
console.log(`RESULT ${JSON.stringify({ node_argon2id_verifies_per_s: Math.round(rate * 10) / 10, in_flight: inFlight })}`);
