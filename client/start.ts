import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type * as workflows from '../workflows';

/**
 * Starting work, for every starter (the CLI, the demo, the fault suite, the API to come): a workflow is named
 * by its registered name and its arguments are typed by the workflow's own signature, so a renamed workflow or a
 * changed input fails to compile here instead of failing at run time on a worker.
 */
export type WorkflowName = keyof typeof workflows;
export type WorkflowOf<N extends WorkflowName> = (typeof workflows)[N];

export interface StartOptions<N extends WorkflowName> {
  taskQueue: string;
  workflowId: string;
  args: Parameters<WorkflowOf<N>>;
}

export function startWorkflow<N extends WorkflowName>(
  client: Client,
  name: N,
  opts: StartOptions<N>,
): Promise<WorkflowHandleWithFirstExecutionRunId<WorkflowOf<N>>> {
  return client.workflow.start<WorkflowOf<N>>(name, opts as never);
}

/** Starts a workflow under its idempotency id, or attaches to the run already going under that id. */
export async function startOrAttach<N extends WorkflowName>(
  client: Client,
  name: N,
  opts: StartOptions<N> & {
    log?: (line: string) => void;
    /** Runs once the workflow was started by this call (not when attaching): e.g. its audit row. */
    onStarted?: () => Promise<void>;
  },
): Promise<WorkflowHandle<WorkflowOf<N>>> {
  const { log, onStarted, ...start } = opts;
  try {
    const handle = await startWorkflow(client, name, start);
    log?.(`started ${opts.workflowId}`);
    await onStarted?.();
    return handle;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log?.(`${opts.workflowId} is already running: attaching`);
    return client.workflow.getHandle<WorkflowOf<N>>(opts.workflowId);
  }
}
