// Projects opened in this browser profile, newest first, for one-click reopening.
const KEY = 'landmark-studio.recent';
const MAX = 6;

export interface RecentProject {
  dir: string;
  name: string;
}

export function recentProjects(): RecentProject[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(parsed)
      ? parsed.filter((p): p is RecentProject => typeof p?.dir === 'string' && typeof p?.name === 'string')
      : [];
  } catch {
    return [];
  }
}

export function rememberProject(dir: string, name: string): void {
  const list = [{ dir, name }, ...recentProjects().filter((p) => p.dir !== dir)].slice(0, MAX);
  try {
    localStorage.setItem(KEY, JSON.stringify(list));
  } catch {
    // storage full or disabled: recents are a convenience
  }
}
