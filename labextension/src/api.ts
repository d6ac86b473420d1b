/**
 * Calls to the server extension (`<server>/notebooks-token/...`, `<server>/notebooks-credits/...`),
 * turning every failure into a message meant for the panel.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface ITokenReply {
  access_token: string;
  expires_at: number;
}

export interface IKeepState {
  enabled: boolean;
  path: string;
  error: string;
  written_at: number;
}

export interface ISettings {
  mounted: boolean;
  token_dir: string | null;
  home: string;
  keep: IKeepState;
}

export class PanelError extends Error {}

/** `path` is relative to the server's base URL. */
export async function requestServer<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new PanelError(`The server cannot be reached: ${String(error)}`);
  }
  const text = await response.text();
  let body: any = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { message: text };
  }
  if (!response.ok) {
    throw new PanelError(body.message || body.reason || `HTTP ${response.status}`);
  }
  return body as T;
}

export const requestAPI = <T>(path: string, init: RequestInit = {}): Promise<T> =>
  requestServer<T>(URLExt.join('notebooks-token', path), init);

export const getToken = (): Promise<ITokenReply> => requestAPI<ITokenReply>('token');

export const getSettings = (): Promise<ISettings> => requestAPI<ISettings>('settings');

export const saveToken = (path: string): Promise<{ path: string }> =>
  requestAPI('save', { method: 'POST', body: JSON.stringify({ path }) });

export const setKeep = (enabled: boolean, path: string): Promise<{ keep: IKeepState }> =>
  requestAPI('keep', { method: 'PUT', body: JSON.stringify({ enabled, path }) });
