import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import fs from 'node:fs';
import path from 'node:path';
import { testTemporal } from '../support/temporal';

const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

/**
 * Recorded histories must replay on the current workflow code: a change that breaks determinism fails here, not
 * in production. Re-record with `ORGTALLY_RECORD_HISTORY=1 npx jest test/workflow` after an intended change.
 */
describe('workflow replay', () => {
  it('has recorded histories', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  it.each(files)('%s replays deterministically', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: testTemporal().bundle }, history, file);
  });
});
