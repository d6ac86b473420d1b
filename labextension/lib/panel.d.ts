/**
 * The "Access token" panel: expiry countdown, Copy to clipboard, Save to file, Keep refreshed on disk.
 */
import { Widget } from '@lumino/widgets';
export declare function formatRemaining(seconds: number): string;
export declare class AccessTokenPanel extends Widget {
    private token;
    private timer;
    private readonly mount;
    private readonly expiry;
    private readonly path;
    private readonly keep;
    private readonly message;
    private readonly error;
    constructor();
    private build;
    protected onAfterAttach(): void;
    protected onBeforeDetach(): void;
    /** Run an action, showing its failure in the panel rather than the console. */
    private run;
    private showSettings;
    private load;
    private refresh;
    private tick;
    private copy;
    private save;
    private toggleKeep;
}
