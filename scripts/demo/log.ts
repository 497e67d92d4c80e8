/** The demo's output: lines on stdout, each phase under a heading. */
export const log = (line: string) => process.stdout.write(`${line}\n`);
export const step = (title: string) => log(`\n== ${title}`);
