/*
 * path.h - lexical handling of paths found inside images. Nothing here
 * touches a filesystem.
 */
#ifndef CS_COMMON_PATH_H
#define CS_COMMON_PATH_H

#include <stddef.h>

enum {
	CS_PATH_ABSOLUTE = 1,   /* flag: the input began with '/' */
};

/*
 * Normalises an archive entry name into "a/b/c": no leading "/" or "./",
 * no "." components, no empty components, no trailing "/". "." alone (the
 * layer root) becomes "". A ".." component is never resolved: CS_EFORMAT.
 * out must hold outsz bytes; CS_ELIMIT when the result does not fit.
 * *flags gets CS_PATH_ABSOLUTE when the input was absolute.
 */
int cs_path_normalize(char *out, size_t outsz, const char *in, size_t n, int *flags);

/*
 * Whether a link target, resolved lexically from the directory of path
 * (both normalised), climbs above the image root. Absolute targets never
 * escape (they are resolved from the image root). Returns 1 or 0.
 */
int cs_path_link_escapes(const char *path, const char *target);

/* Offset of the last component of a normalised path. */
size_t cs_path_base(const char *path);

#endif
