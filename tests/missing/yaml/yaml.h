/* yaml.h - stands in when configure found no libyaml (tests only) */
#error "make check needs libyaml: apt-get install libyaml-dev, then run ./configure again"
