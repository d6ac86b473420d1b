/**
 * Adds the "Access token" panel to the right sidebar and a command to open it.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';
declare const plugin: JupyterFrontEndPlugin<void>;
export default plugin;
