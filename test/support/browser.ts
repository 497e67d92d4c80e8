// The browser the tests drive is the one the screenshot script drives: one place knows how to launch it.
export { chromiumPath, launchBrowser } from '../../scripts/lib/browser';
