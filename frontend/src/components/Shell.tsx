import { useState, type ReactNode } from 'react';
import { Link, useLocation } from '../router';
import { roleLabel, useSession } from '../session';
import { canSeeAllTasks } from '../tasks';

interface NavItem {
  to: string;
  label: string;
  /** Shown only to users this accepts. */
  allowed?: (role: string) => boolean;
}

const NAV: NavItem[] = [
  { to: '/apps', label: 'Apps' },
  { to: '/tasks', label: 'Tasks', allowed: canSeeAllTasks },
];

export function Shell({ children }: { children: ReactNode }) {
  const { user, logout } = useSession();
  const { pathname } = useLocation();
  const [leaving, setLeaving] = useState(false);

  async function handleLogout() {
    setLeaving(true);
    try {
      await logout();
    } finally {
      setLeaving(false);
    }
  }

  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/apps" className="brand" aria-label="berth home">
          <span className="brand-mark" aria-hidden="true" />
          berth
        </Link>
        <nav aria-label="Main" className="nav">
          {NAV.filter((item) => !item.allowed || item.allowed(user.role)).map((item) => (
            <Link
              key={item.to}
              to={item.to}
              className="nav-link"
              aria-current={
                pathname === item.to ? 'page' : pathname.startsWith(`${item.to}/`) ? 'location' : undefined
              }
            >
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="account">
          <span className="account-name" data-testid="current-user">
            {user.username}
          </span>
          <span className={`role role-${roleLabel(user.role)}`} data-testid="current-role">
            {roleLabel(user.role)}
          </span>
          <button type="button" className="button" onClick={handleLogout} disabled={leaving}>
            Log out
          </button>
        </div>
      </header>
      <main className="content">{children}</main>
    </div>
  );
}
