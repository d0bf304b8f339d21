/* spf.c - being written */
