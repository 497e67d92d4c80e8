import { terminalSafe } from './lib/output';
import { buildProgram } from './program';

buildProgram()
  .program.parseAsync(process.argv)
  .catch((err: unknown) => {
    const e = err as Error;
    console.error(`orgtally: ${terminalSafe(e.message)}`);
    if (process.env.ORGTALLY_DEBUG) console.error(e);
    process.exit(1);
  });
