/* Character classes shared by the parsers of outside input (locale-free, unlike ctype). */
#ifndef PAPI_CHARS_H
#define PAPI_CHARS_H

static inline int papi_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The value of a hexadecimal digit, or -1. */
static inline int papi_hex_value(char c)
{
    if (papi_is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
