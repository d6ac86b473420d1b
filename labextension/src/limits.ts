/**
 * Tells the user why a kernel died when the kernel killed it for exceeding the server's memory limit:
 * without this, JupyterLab only says that the kernel "appears to have died".
 */
import { Notification } from '@jupyterlab/apputils';

import { requestServer } from './api';

/** How often to ask; a kill is noticed within this time. */
const POLL_MS = 5000;

export interface ILimits {
  enforced: boolean;
  memory_limit_bytes: number;
  cpu_limit: number;
  memory_kills: number;
  last_memory_kill: number;
}

export const getLimits = (): Promise<ILimits> => requestServer<ILimits>('notebooks-limits');

export function memoryText(bytes: number): string {
  return `${Number((bytes / 1024 ** 3).toPrecision(3))} GiB`;
}

/** Polls the server's limits and shows one notice per new kill. */
export class MemoryNotices {
  private seen: number;

  constructor(initial: ILimits) {
    this.seen = initial.memory_kills;
  }

  start(): void {
    window.setInterval(() => void this.check(), POLL_MS);
  }

  private async check(): Promise<void> {
    const limits = await getLimits().catch(() => null);
    if (!limits || limits.memory_kills <= this.seen) {
      return;
    }
    this.seen = limits.memory_kills;
    Notification.warning(
      `Kernel stopped: it exceeded this server's ${memoryText(limits.memory_limit_bytes)} memory ` +
        'limit. Use less memory or a larger profile.',
      { autoClose: false }
    );
  }
}
