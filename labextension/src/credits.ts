/**
 * Credits in JupyterLab: a status-bar item with the balance and runway of the wallet paying for this
 * server, and a notification each time the runway falls under one of the service's warning thresholds.
 *
 * The server extension names the paying wallet (only to the server's owner, only when credits are on);
 * the browser then asks the credits service with its own hub token (the page token), so it sees only
 * what the browsing user may see.
 */
import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { requestServer } from './api';

export interface ICreditsConfig {
  wallet: string;
  page_url: string;
}

export interface IWalletStatus {
  wallet: string;
  balance: number;
  unlimited: boolean;
  spending_per_hour: number;
  runway_seconds: number | null;
  warning_threshold: number | null;
}

export interface ICreditsStatus {
  wallets: IWalletStatus[];
  warning: string;
  warning_thresholds: number[];
}

/** Longest pause between two polls; the service posts charges at least every minute. */
const POLL_MS = 30_000;
/** Shortest pause: the service's figures move at most once per posting interval. */
const MIN_POLL_MS = 2_000;

export const getCreditsConfig = (): Promise<ICreditsConfig> =>
  requestServer<ICreditsConfig>('notebooks-credits/wallet');

/** Same wording as the service's own pages (`status.format_duration`). */
export function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) {
    return `${Math.max(Math.floor(seconds), 0)} s`;
  }
  if (minutes < 120) {
    return `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} days`;
}

export function statusText(status: IWalletStatus): string {
  const balance = `Credits ${Number(status.balance.toFixed(2))}`;
  if (status.unlimited) {
    return `${balance} · unlimited`;
  }
  if (status.balance <= 0) {
    return `${balance} · empty`;
  }
  if (status.runway_seconds === null) {
    return balance; // nothing charged yet: the accounting cycle has not seen this server
  }
  return `${balance} · ${formatDuration(status.runway_seconds)} left`;
}

export class CreditsStatus extends Widget {
  private timer = 0;
  /** Warning levels already notified ("empty" or a threshold in seconds), so each shows once. */
  private notified = new Set<string>();

  constructor(private config: ICreditsConfig) {
    super();
    this.addClass('jp-NotebooksCredits');
    this.node.textContent = 'Credits';
    this.node.title = `Credits of wallet ${config.wallet}: open the credits page`;
    this.node.addEventListener('click', () => this.openPage());
  }

  start(): void {
    void this.poll();
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    super.dispose();
  }

  private openPage(): void {
    window.open(this.config.page_url, '_blank', 'noopener');
  }

  private async poll(): Promise<void> {
    let delay = POLL_MS;
    try {
      const status = await this.fetchStatus();
      const wallet = status.wallets.find(w => w.wallet === this.config.wallet);
      if (wallet) {
        this.render(wallet);
        this.warn(wallet, status.warning);
        delay = nextPoll(wallet, status.warning_thresholds);
      }
    } catch {
      // The service restarts or the hub is away: keep the last figures, say they are stale.
      this.node.title = `Credits of wallet ${this.config.wallet}: cannot be read just now`;
      this.addClass('jp-mod-stale');
    }
    if (!this.isDisposed) {
      this.timer = window.setTimeout(() => void this.poll(), delay);
    }
  }

  private async fetchStatus(): Promise<ICreditsStatus> {
    const { token } = ServerConnection.makeSettings();
    const url =
      URLExt.join(this.config.page_url, 'api/status') +
      URLExt.objectToQueryString({ wallet: this.config.wallet });
    const response = await fetch(url, {
      headers: { Authorization: `token ${token}` },
      cache: 'no-store'
    });
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    return (await response.json()) as ICreditsStatus;
  }

  private render(wallet: IWalletStatus): void {
    this.node.textContent = statusText(wallet);
    this.node.title = `Credits of wallet ${wallet.wallet}, spending ${wallet.spending_per_hour} per hour: open the credits page`;
    this.removeClass('jp-mod-stale');
    this.toggleClass('jp-mod-warning', wallet.warning_threshold !== null);
  }

  private warn(wallet: IWalletStatus, text: string): void {
    const threshold = wallet.warning_threshold;
    if (threshold === null) {
      this.notified.clear(); // credits were added: warn again when the runway falls again
      return;
    }
    const level = wallet.balance <= 0 ? 'empty' : String(threshold);
    // Forget lower levels the runway has climbed back above, so that they warn again.
    for (const seen of [...this.notified]) {
      if (seen !== level && (seen === 'empty' || Number(seen) < threshold)) {
        this.notified.delete(seen);
      }
    }
    if (this.notified.has(level) || !text) {
      return;
    }
    this.notified.add(level);
    Notification.warning(text, {
      autoClose: false,
      actions: [{ label: 'Open the credits page', callback: () => this.openPage() }]
    });
  }
}

/** Poll again just after the runway crosses the next threshold, so its warning comes on time; once
 * warned, every few seconds, so that "empty" is seen in the grace period before the server stops (a
 * stopped server's page can no longer ask). */
function nextPoll(wallet: IWalletStatus, thresholds: number[]): number {
  const runway = wallet.runway_seconds;
  if (wallet.balance <= 0) {
    return POLL_MS;
  }
  if (runway === null) {
    return wallet.warning_threshold === null ? POLL_MS : MIN_POLL_MS;
  }
  // The next threshold is the one under the current level, not under the (rounded) runway: a runway
  // shown as 15 s may still be just above the 15 s threshold.
  const level = wallet.warning_threshold ?? Infinity;
  const lower = thresholds.filter(t => t < level);
  const untilNext = runway - (lower.length ? Math.max(...lower) : 0);
  const cap = wallet.warning_threshold === null ? POLL_MS : MIN_POLL_MS;
  return Math.min(cap, Math.max(MIN_POLL_MS, untilNext * 1000 + 1000));
}
