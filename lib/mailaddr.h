/*
 * mailaddr.h - RFC 5322 address parsing for the From header (being written)
 */
#ifndef AUTHTAG_MAILADDR_H
#define AUTHTAG_MAILADDR_H
#endif
