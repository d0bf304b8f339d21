# authtag-spam.sieve - Sieve (Dovecot Pigeonhole): file spam into Junk
#
# The first test follows authtag's score (X-Spam-Flag, SpamAssassin's
# header); the second files DMARC failures whatever the score, as sites
# that ran OpenDMARC in tag mode do: replace mx.example.org with your
# AuthservID. Sieve compares unfolded header values.
require ["fileinto"];

if header :is "X-Spam-Flag" "YES" {
	fileinto "Junk";
	stop;
}
if header :matches "Authentication-Results" "mx.example.org;*dmarc=fail*" {
	fileinto "Junk";
	stop;
}
