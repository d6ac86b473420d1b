/**
 * Calls to the server extension (`<server>/notebooks-token/...`), turning every failure into a message
 * meant for the panel.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
export class PanelError extends Error {
}
export async function requestAPI(path, init = {}) {
    const settings = ServerConnection.makeSettings();
    const url = URLExt.join(settings.baseUrl, 'notebooks-token', path);
    let response;
    try {
        response = await ServerConnection.makeRequest(url, init, settings);
    }
    catch (error) {
        throw new PanelError(`The server cannot be reached: ${String(error)}`);
    }
    const text = await response.text();
    let body = {};
    try {
        body = text ? JSON.parse(text) : {};
    }
    catch {
        body = { message: text };
    }
    if (!response.ok) {
        throw new PanelError(body.message || body.reason || `HTTP ${response.status}`);
    }
    return body;
}
export const getToken = () => requestAPI('token');
export const getSettings = () => requestAPI('settings');
export const saveToken = (path) => requestAPI('save', { method: 'POST', body: JSON.stringify({ path }) });
export const setKeep = (enabled, path) => requestAPI('keep', { method: 'PUT', body: JSON.stringify({ enabled, path }) });
