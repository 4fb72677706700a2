/**
 * App-wide dialogs: a confirmation any screen can ask for (instead of window.confirm,
 * which cannot be themed and blocks the page while a run streams), and the keyboard
 * help. One host in App.svelte draws whichever is open.
 */
export interface ConfirmOptions {
  title: string;
  message: string;
  confirmLabel: string;
  /** A destructive action: the button is red and Cancel has the focus. */
  danger?: boolean;
}

interface PendingConfirm extends ConfirmOptions {
  resolve: (confirmed: boolean) => void;
}

class Dialogs {
  confirmation = $state.raw<PendingConfirm | null>(null);
  helpOpen = $state(false);

  /** Resolves true when the person confirms, false on Cancel, Esc or a click outside. */
  confirm(options: ConfirmOptions): Promise<boolean> {
    this.settle(false);
    return new Promise((resolve) => {
      this.confirmation = { ...options, resolve };
    });
  }

  settle(confirmed: boolean): void {
    const pending = this.confirmation;
    this.confirmation = null;
    pending?.resolve(confirmed);
  }
}

export const dialogs = new Dialogs();
