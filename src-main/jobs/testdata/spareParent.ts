// A parent that starts a spare worker and has nothing else to do: it must exit (tests only).
import { SpareWorker } from '../runner.js';

const spare = new SpareWorker({ script: process.argv[2]! });
process.stdout.write(`${spare.pid}\n`);
