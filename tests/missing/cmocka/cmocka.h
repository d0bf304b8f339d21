/* cmocka.h - stands in when configure found no cmocka (tests only) */
#error "make check needs cmocka: apt-get install libcmocka-dev, then run ./configure again"
