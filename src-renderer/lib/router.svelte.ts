import { parseHash, href, type Route } from './routes';

export { href, section, type Route, type ViewName } from './routes';

class Router {
  route = $state<Route>(parseHash(location.hash));

  constructor() {
    window.addEventListener('hashchange', () => {
      this.route = parseHash(location.hash);
    });
  }

  go(route: Route, options: { replace?: boolean } = {}): void {
    const target = href(route);
    if (options.replace) history.replaceState(null, '', target);
    else if (location.hash !== target) location.hash = target;
    this.route = route;
  }
}

export const router = new Router();
