/**
 * The "Access token" panel: expiry countdown, Copy to clipboard, Save to file, Keep refreshed on disk.
 */
import { Widget } from '@lumino/widgets';

import {
  PanelError,
  getSettings,
  getToken,
  ISettings,
  ITokenReply,
  saveToken,
  setKeep
} from './api';

const DEFAULT_FILE = 'access_token.txt';
const PATH_ID = 'jp-NotebooksToken-path-input';

/** A path in a message: absolute, or home-relative with `~/`. */
const PATH = /^(?:\/|~\/)\S*$/;

export function formatRemaining(seconds: number): string {
  if (seconds <= 0) {
    return 'expired';
  }
  const total = Math.floor(seconds);
  const minutes = Math.floor(total / 60);
  const rest = String(total % 60).padStart(2, '0');
  return `expires in ${minutes}:${rest}`;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

/**
 * Show `text` in `node`, with every path in it in a monospace span that may wrap anywhere, so long
 * paths neither overflow the sidebar nor get split in the middle of ordinary words.
 */
export function showText(node: HTMLElement, text: string): void {
  node.textContent = '';
  for (const part of text.split(/(\s+)/)) {
    const match = PATH.test(part) ? /^(.*?)([.,;:)]?)$/.exec(part) : null;
    if (match && match[1].length > 1) {
      node.appendChild(element('code', 'jp-NotebooksToken-pathText', match[1]));
      node.appendChild(document.createTextNode(match[2]));
    } else {
      node.appendChild(document.createTextNode(part));
    }
  }
}

export class AccessTokenPanel extends Widget {
  private token: ITokenReply | null = null;
  private timer = 0;
  private readonly mount = element('p', 'jp-NotebooksToken-mount', 'Loading…');
  private readonly expiry = element('p', 'jp-NotebooksToken-expiry');
  private readonly path = element('input', 'jp-NotebooksToken-path jp-mod-styled');
  private readonly keep = element('input', 'jp-NotebooksToken-keep');
  private readonly message = element('div', 'jp-NotebooksToken-message');
  private readonly error = element('div', 'jp-NotebooksToken-error');

  constructor() {
    super();
    this.id = 'notebooks-access-token';
    this.addClass('jp-NotebooksToken');
    this.title.caption = 'Access token';
    this.title.label = 'Access token';
    this.build();
  }

  private build(): void {
    const root = this.node;
    root.appendChild(element('h2', 'jp-NotebooksToken-title', 'Access token'));
    root.appendChild(this.expiry);
    root.appendChild(this.mount);

    const copy = element('button', 'jp-NotebooksToken-copy jp-mod-styled jp-mod-accept',
      'Copy to clipboard');
    copy.type = 'button';
    copy.onclick = () => void this.run(() => this.copy());
    root.appendChild(copy);

    const saveSection = element('div', 'jp-NotebooksToken-section');
    const label = element('label', 'jp-NotebooksToken-label', 'File (relative to your home)');
    label.htmlFor = PATH_ID;
    saveSection.appendChild(label);
    const saveRow = element('div', 'jp-NotebooksToken-row');
    this.path.id = PATH_ID;
    this.path.type = 'text';
    this.path.value = DEFAULT_FILE;
    this.path.spellcheck = false;
    this.path.setAttribute('aria-label', 'File to save the token to');
    this.path.onkeydown = event => {
      if (event.key === 'Enter') {
        void this.run(() => this.save());
      }
    };
    saveRow.appendChild(this.path);
    const save = element('button', 'jp-NotebooksToken-save jp-mod-styled jp-mod-accept', 'Save to file');
    save.type = 'button';
    save.onclick = () => void this.run(() => this.save());
    saveRow.appendChild(save);
    saveSection.appendChild(saveRow);

    const keepLabel = element('label', 'jp-NotebooksToken-keepLabel');
    this.keep.type = 'checkbox';
    this.keep.onchange = () => void this.run(() => this.toggleKeep());
    keepLabel.appendChild(this.keep);
    keepLabel.appendChild(element('span', '', 'Keep refreshed on disk'));
    saveSection.appendChild(keepLabel);
    root.appendChild(saveSection);

    this.message.setAttribute('role', 'status');
    this.error.setAttribute('role', 'alert');
    root.appendChild(this.message);
    root.appendChild(this.error);
  }

  protected onAfterAttach(): void {
    void this.run(() => this.load());
    this.timer = window.setInterval(() => this.tick(), 1000);
  }

  protected onBeforeDetach(): void {
    window.clearInterval(this.timer);
  }

  /** Run an action, showing its failure in the panel rather than the console. */
  private async run(action: () => Promise<void>): Promise<void> {
    this.error.textContent = '';
    try {
      await action();
    } catch (error) {
      const text = error instanceof PanelError ? error.message : `Unexpected error: ${String(error)}`;
      showText(this.error, text);
      this.message.textContent = '';
    }
  }

  private showSettings(settings: ISettings): void {
    showText(this.mount, settings.mounted
      ? `Mounted in this server: yes, in ${settings.token_dir}`
      : 'Mounted in this server: no (chosen when the server started)');
    this.keep.checked = settings.keep.enabled;
    if (settings.keep.path) {
      this.path.value = settings.keep.path;
    }
    if (settings.keep.error) {
      showText(this.error, `Keep refreshed: ${settings.keep.error}`);
    }
  }

  private async load(): Promise<void> {
    this.showSettings(await getSettings());
    await this.refresh();
  }

  private async refresh(): Promise<ITokenReply> {
    this.token = await getToken();
    this.tick();
    return this.token;
  }

  private tick(): void {
    if (!this.token) {
      this.expiry.textContent = 'No token available';
      return;
    }
    const remaining = this.token.expires_at - Date.now() / 1000;
    this.expiry.textContent = `Token ${formatRemaining(remaining)}`;
    if (remaining <= 0) {
      this.token = null;
      void this.run(async () => {
        await this.refresh();
      });
    }
  }

  private async copy(): Promise<void> {
    const token = await this.refresh();
    try {
      await navigator.clipboard.writeText(token.access_token);
    } catch (error) {
      throw new PanelError(`The browser refused the clipboard: ${String(error)}`);
    }
    this.message.textContent = 'Copied to the clipboard.';
  }

  private async save(): Promise<void> {
    const reply = await saveToken(this.path.value);
    showText(this.message, `Saved to ${reply.path}`);
  }

  private async toggleKeep(): Promise<void> {
    const wanted = this.keep.checked;
    try {
      const reply = await setKeep(wanted, this.path.value);
      this.keep.checked = reply.keep.enabled;
      if (reply.keep.error) {
        throw new PanelError(`Keep refreshed: ${reply.keep.error}`);
      }
      showText(this.message, wanted
        ? `Keeping ${reply.keep.path} refreshed with every new token.`
        : 'No longer keeping the file refreshed.');
    } catch (error) {
      this.keep.checked = !wanted && this.keep.checked;
      throw error;
    }
  }
}
