/**
 * The page's Content Security Policy, sent as a header by both hosts (browser mode over
 * HTTP, Electron's app:// protocol) on top of index.html's meta tag; a page gets the
 * intersection of the two. No inline scripts or styles; images may be data: URLs (sample
 * thumbnails). `connect` adds WebSocket origins: browser mode names its own.
 */
export function contentSecurityPolicy(connect: string[] = []): string {
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    ["connect-src 'self'", ...connect].join(' '), "font-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'none'", "frame-ancestors 'none'",
  ].join('; ');
}
