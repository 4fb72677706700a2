import type { FromWorkerMessage, OpenModel } from '@shared/worker-protocol';
import { ApiError } from '@shared/errors';
import { toErrorShape } from '../errors';
import { loadCheckpoint, prepareJob } from '../job';
import { answer } from './ops';
import { openModelSession, type AnyModelSession } from './session';

/**
 * The worker's model-session mode: after `open`, answer `infer` requests by id until
 * the supervisor says `stop` or goes away. Requests run concurrently at the engine's
 * yield points (one process, one thread); `cancel` stops one at its next yield.
 */
export class ModelServer {
  private session: AnyModelSession | null = null;
  private readonly cancelled = new Set<number>();
  private readonly active = new Set<number>();
  private closing = false;

  constructor(
    private readonly send: (msg: FromWorkerMessage) => void,
    private readonly yieldToEventLoop: () => Promise<void>,
  ) {}

  async open(msg: OpenModel): Promise<void> {
    const reported: { backend?: string } = {};
    const { config, images } = await prepareJob(
      msg.config,
      msg.datasetPath,
      (m) => {
        if (m.type === 'backend') reported.backend = m.backend;
        this.send(m);
      },
      msg.datasetSha256,
    );
    const loaded = loadCheckpoint(msg.checkpoint);
    this.session = await openModelSession(msg, config, images, loaded, reported.backend ?? 'unknown');
    this.send({ type: 'ready', info: this.session.info });
  }

  infer(id: number, request: unknown): void {
    const session = this.session;
    if (session === null || this.closing) {
      this.send({ type: 'infer-error', id, error: { code: 'conflict', message: 'The model session is not open' } });
      return;
    }
    this.active.add(id);
    const shouldStop = (): boolean => this.closing || this.cancelled.has(id);
    answer(session, request, {
      partial: (data) => {
        if (!shouldStop()) this.send({ type: 'infer-partial', id, data });
      },
      shouldStop,
      yieldToEventLoop: this.yieldToEventLoop,
    }).then(
      (data) => {
        if (this.cancelled.has(id)) throw new ApiError('cancelled', 'The request was cancelled');
        this.send({ type: 'infer-result', id, data });
      },
    ).catch((error: unknown) => this.send({ type: 'infer-error', id, error: toErrorShape(error) }))
      .finally(() => {
        this.active.delete(id);
        this.cancelled.delete(id);
      });
  }

  cancel(id: number): void {
    if (this.active.has(id)) this.cancelled.add(id);
  }

  close(): void {
    this.closing = true;
    this.session?.dispose();
    this.session = null;
  }
}
