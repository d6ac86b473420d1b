/**
 * Adds the "Access token" panel to the right sidebar and a command to open it.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { AccessTokenPanel } from './panel';
const COMMAND = 'notebooks-token:open';
const plugin = {
    id: '@notebooks-service/access-token:plugin',
    description: "The owner's OIDC access token: countdown, copy, save, keep refreshed on disk.",
    autoStart: true,
    optional: [ICommandPalette, ILayoutRestorer],
    activate: (app, palette, restorer) => {
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
export default plugin;
