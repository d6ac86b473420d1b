/**
 * Adds the "Access token" panel to the right sidebar and a command to open it, the credits
 * status-bar item and warnings, and notices of kernels killed for exceeding the memory limit.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';

import { CreditsStatus, getCreditsConfig } from './credits';
import { getLimits, MemoryNotices } from './limits';
import { AccessTokenPanel } from './panel';

const COMMAND = 'notebooks-token:open';

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@notebooks-service/access-token:plugin',
  description: "The owner's OIDC access token: countdown, copy, save, keep refreshed on disk.",
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const panel = new AccessTokenPanel();
    app.shell.add(panel, 'right', { rank: 900 });
    restorer?.add(panel, panel.id);
    app.commands.addCommand(COMMAND, {
      label: 'Show my access token',
      execute: () => app.shell.activateById(panel.id)
    });
    palette?.addItem({ command: COMMAND, category: 'Notebooks' });
  }
};

const credits: JupyterFrontEndPlugin<void> = {
  id: '@notebooks-service/access-token:credits',
  description: 'Balance and runway of the wallet paying for this server, and warnings before a stop.',
  autoStart: true,
  // Optional: without a status bar (e.g. Notebook 7's pages) the warnings still show.
  optional: [IStatusBar],
  activate: async (_app: JupyterFrontEnd, statusBar: IStatusBar | null) => {
    // Nothing to show when not started by our hub, when credits are off, or on someone else's
    // (shared) server.
    const config = await getCreditsConfig().catch(() => null);
    if (!config?.wallet) {
      return;
    }
    const item = new CreditsStatus(config);
    statusBar?.registerStatusItem(credits.id, { item, align: 'left', rank: 100 });
    item.start();
  }
};

const memory: JupyterFrontEndPlugin<void> = {
  id: '@notebooks-service/access-token:memory',
  description: 'Says why a kernel died when it exceeded the memory limit of the server.',
  autoStart: true,
  activate: async () => {
    const limits = await getLimits().catch(() => null);
    if (limits?.enforced) {
      new MemoryNotices(limits).start();
    }
  }
};

export default [plugin, credits, memory];
