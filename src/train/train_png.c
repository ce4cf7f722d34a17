/* train_png.c — loss-curve plot as PNG without any library: a tiny RGB rasteriser (lines, a 3x5
 * digit font for axis labels) and a PNG encoder that uses stored (uncompressed) deflate blocks
 * with its own CRC-32 and Adler-32. Blue = training loss, orange = validation loss. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/train_io.h"

static uint32_t crc_table[256];
static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}
static uint32_t crc_upd(uint32_t c, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c;
}
static void be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

static int chunk(FILE *f, const char *type, const uint8_t *d, uint32_t n) {
    uint8_t h[8];
    be32(h, n);
    memcpy(h + 4, type, 4);
    uint32_t c = crc_upd(0xffffffffu, h + 4, 4);
    c = crc_upd(c, d, n) ^ 0xffffffffu;
    uint8_t t[4];
    be32(t, c);
    return fwrite(h, 1, 8, f) != 8 || (n && fwrite(d, 1, n, f) != n) || fwrite(t, 1, 4, f) != 4;
}

exa_status exa_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h, char *err, size_t errsz) {
    crc_init();
    size_t row = (size_t)w * 3 + 1, raw_n = row * (size_t)h;
    size_t nblk = (raw_n + 65534) / 65535;
    size_t zn = 2 + raw_n + nblk * 5 + 4;
    uint8_t *raw = malloc(raw_n), *z = malloc(zn);
    if (!raw || !z) { free(raw); free(z); return exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory", path); }
    for (int y = 0; y < h; y++) {
        raw[row * (size_t)y] = 0; /* filter: none */
        memcpy(raw + row * (size_t)y + 1, rgb + (size_t)y * w * 3, (size_t)w * 3);
    }
    size_t o = 0;
    z[o++] = 0x78; z[o++] = 0x01;
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < raw_n; i++) { a = (a + raw[i]) % 65521; b = (b + a) % 65521; }
    for (size_t p = 0; p < raw_n; p += 65535) {
        size_t n = EXA_MIN((size_t)65535, raw_n - p);
        z[o++] = p + n >= raw_n ? 1 : 0;
        z[o++] = (uint8_t)n; z[o++] = (uint8_t)(n >> 8);
        z[o++] = (uint8_t)~n; z[o++] = (uint8_t)(~n >> 8);
        memcpy(z + o, raw + p, n);
        o += n;
    }
    be32(z + o, (b << 16) | a);
    o += 4;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) { free(raw); free(z); return exa_err(err, errsz, EXA_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno)); }
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    uint8_t ihdr[13];
    be32(ihdr, (uint32_t)w); be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
    int bad = fwrite(sig, 1, 8, f) != 8 || chunk(f, "IHDR", ihdr, 13) || chunk(f, "IDAT", z, (uint32_t)o) ||
              chunk(f, "IEND", NULL, 0);
    free(raw); free(z);
    if (fclose(f) || bad || rename(tmp, path)) { unlink(tmp); return exa_err(err, errsz, EXA_ERR_IO, "%s: write failed", path); }
    return EXA_OK;
}

/* ---- rasteriser ---- */
typedef struct { uint8_t *p; int w, h; } img;
static void px(img *im, int x, int y, const uint8_t c[3]) {
    if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
    memcpy(im->p + ((size_t)y * im->w + x) * 3, c, 3);
}
static void line(img *im, int x0, int y0, int x1, int y1, const uint8_t c[3], int thick) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
    for (;;) {
        for (int a = 0; a < thick; a++) for (int b2 = 0; b2 < thick; b2++) px(im, x0 + a, y0 + b2, c);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) { e += dy; x0 += sx; }
        if (e2 <= dx) { e += dx; y0 += sy; }
    }
}
/* 3x5 glyphs for "0123456789.-e" (rows top to bottom, 3 bits each) */
static const char *glyphs = "0123456789.-e";
static const uint8_t font[13][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7},
    {7, 4, 7, 5, 7}, {7, 1, 1, 2, 2}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}, {0, 0, 0, 0, 2}, {0, 0, 7, 0, 0},
    {0, 7, 5, 6, 3}};
static void text(img *im, int x, int y, const char *s, const uint8_t c[3]) {
    for (; *s; s++, x += 8) {
        const char *g = strchr(glyphs, *s);
        if (!g) continue;
        const uint8_t *f = font[g - glyphs];
        for (int r = 0; r < 5; r++)
            for (int k = 0; k < 3; k++)
                if (f[r] >> (2 - k) & 1)
                    for (int a = 0; a < 2; a++) for (int b = 0; b < 2; b++) px(im, x + 2 * k + a, y + 2 * r + b, c);
    }
}

exa_status exa_png_plot(const char *path, const double *x, const double *y1, const double *y2, int n,
                        char *err, size_t errsz) {
    const int W = 800, H = 480, L = 70, R = 20, Tm = 20, Bm = 40;
    img im = {malloc((size_t)W * H * 3), W, H};
    if (!im.p) return exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory", path);
    memset(im.p, 255, (size_t)W * H * 3);
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < n; i++) {
        xmin = fmin(xmin, x[i]); xmax = fmax(xmax, x[i]);
        if (isfinite(y1[i])) { ymin = fmin(ymin, y1[i]); ymax = fmax(ymax, y1[i]); }
        if (y2 && isfinite(y2[i])) { ymin = fmin(ymin, y2[i]); ymax = fmax(ymax, y2[i]); }
    }
    if (!(xmax > xmin)) { xmin = 0; xmax = xmax > 0 ? xmax : 1; }
    if (!isfinite(ymin)) { ymin = 0; ymax = 1; }
    if (!(ymax > ymin)) { ymin -= 0.5; ymax += 0.5; }
    double pad = 0.05 * (ymax - ymin);
    ymin -= pad; ymax += pad;
    static const uint8_t grid[3] = {225, 225, 225}, axis[3] = {0, 0, 0}, blue[3] = {31, 119, 180}, orange[3] = {255, 127, 14};
    char buf[32];
    for (int k = 0; k <= 5; k++) {
        int yy = Tm + (H - Tm - Bm) * k / 5;
        line(&im, L, yy, W - R, yy, grid, 1);
        snprintf(buf, sizeof buf, "%.3g", ymax - (ymax - ymin) * k / 5);
        text(&im, 4, yy - 5, buf, axis);
        int xx = L + (W - L - R) * k / 5;
        line(&im, xx, Tm, xx, H - Bm, grid, 1);
        snprintf(buf, sizeof buf, "%.0f", xmin + (xmax - xmin) * k / 5);
        text(&im, xx - 4 * (int)strlen(buf), H - Bm + 8, buf, axis);
    }
    line(&im, L, Tm, L, H - Bm, axis, 1);
    line(&im, L, H - Bm, W - R, H - Bm, axis, 1);
#define PX(v) (L + (int)lround((v - xmin) / (xmax - xmin) * (W - L - R)))
#define PY(v) (H - Bm - (int)lround((v - ymin) / (ymax - ymin) * (H - Tm - Bm)))
    for (int s = 0; s < 2; s++) {
        const double *y = s ? y2 : y1;
        if (!y) continue;
        int have = 0, px0 = 0, py0 = 0;
        for (int i = 0; i < n; i++) {
            if (!isfinite(y[i])) continue;
            int xx = PX(x[i]), yy = PY(y[i]);
            if (have) line(&im, px0, py0, xx, yy, s ? orange : blue, 2);
            else line(&im, xx, yy, xx, yy, s ? orange : blue, 2);
            if (s) line(&im, xx - 2, yy - 2, xx + 2, yy + 2, orange, 1), line(&im, xx - 2, yy + 2, xx + 2, yy - 2, orange, 1);
            px0 = xx; py0 = yy; have = 1;
        }
    }
#undef PX
#undef PY
    exa_status rc = exa_png_write_rgb(path, im.p, W, H, err, errsz);
    free(im.p);
    return rc;
}
