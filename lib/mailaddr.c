/* mailaddr.c - being written */
