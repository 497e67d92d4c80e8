import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/config';

export const TEST_HOME = path.join(PROJECT_ROOT, '.orgtally', 'test');

export interface TestGlobals {
  pgBaseDir?: string;
  temporalPid?: number;
  templateUrl?: string;
  bundlePath?: string;
}
