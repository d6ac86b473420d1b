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
export declare class PanelError extends Error {
}
export declare function requestAPI<T>(path: string, init?: RequestInit): Promise<T>;
export declare const getToken: () => Promise<ITokenReply>;
export declare const getSettings: () => Promise<ISettings>;
export declare const saveToken: (path: string) => Promise<{
    path: string;
}>;
export declare const setKeep: (enabled: boolean, path: string) => Promise<{
    keep: IKeepState;
}>;
