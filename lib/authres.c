/* authres.c - being written */
