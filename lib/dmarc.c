/* dmarc.c - being written */
