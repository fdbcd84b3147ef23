// Short messages for the user (errors from the API, results of actions), shown as toasts and in
// the status bar. Errors stay until dismissed; information fades.
export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

const INFO_MS = 4000;

class Notices {
  items = $state<Notice[]>([]);
  private nextId = 1;

  error(text: string): void {
    this.push('error', text);
  }

  info(text: string): void {
    const id = this.push('info', text);
    setTimeout(() => this.dismiss(id), INFO_MS);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((n) => n.id !== id);
  }

  private push(kind: Notice['kind'], text: string): number {
    const id = this.nextId++;
    // The same error repeated (e.g. every click while the host is down) shows once.
    this.items = [...this.items.filter((n) => n.text !== text).slice(-4), { id, kind, text }];
    return id;
  }
}

export const notices = new Notices();
