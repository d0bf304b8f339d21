/* dkim.c - being written */
