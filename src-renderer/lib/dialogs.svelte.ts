/**
 * App-wide dialogs: a confirmation any screen can ask for (instead of window.confirm,
 * which cannot be themed and blocks the page while a run streams), and the keyboard
 * help. One host in App.svelte draws whichever is open.
 */
export interface ConfirmOptions {
  title: string;
  message: string;
  /** null: the action cannot be done now; only Cancel (and `alternative`) are offered. */
  confirmLabel: string | null;
  /** A destructive action: the button is red and Cancel has the focus. */
  danger?: boolean;
  /** A second way out that can work (e.g. "Show its runs"), beside Cancel. */
  alternative?: string;
}

export type Choice = 'confirm' | 'alternative' | 'cancel';

interface PendingConfirm extends ConfirmOptions {
  resolve: (choice: Choice) => void;
}

class Dialogs {
  confirmation = $state.raw<PendingConfirm | null>(null);
  helpOpen = $state(false);

  /** Resolves true when the person confirms, false on Cancel, Esc or a click outside. */
  async confirm(options: ConfirmOptions & { confirmLabel: string }): Promise<boolean> {
    return (await this.choose(options)) === 'confirm';
  }

  /** Like confirm, with the alternative's answer too; Esc and a click outside cancel. */
  choose(options: ConfirmOptions): Promise<Choice> {
    this.settle('cancel');
    return new Promise((resolve) => {
      this.confirmation = { ...options, resolve };
    });
  }

  settle(choice: Choice | boolean): void {
    const pending = this.confirmation;
    this.confirmation = null;
    pending?.resolve(choice === true ? 'confirm' : choice === false ? 'cancel' : choice);
  }
}

export const dialogs = new Dialogs();
