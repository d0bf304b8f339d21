/*
 * dkim_testkeys.h - private keys used only to sign test messages
 *
 * Generated for these tests with "openssl genpkey" (RSA 2048, 1024 and
 * 512 bits, ed25519). They sign nothing but test data; the public halves
 * are derived at test time and served as hermetic DNS.
 */
#ifndef AUTHTAG_TESTS_DKIM_TESTKEYS_H
#define AUTHTAG_TESTS_DKIM_TESTKEYS_H

static const char dkim_test_key_rsa2048[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCtUz/gwD120ysH\n"
    "MjYeIMLKl41NFOsG4Nw6anuSBYvhrBYK+tKyOuzIQo+RTA45ej8MjeCMxSMy1iSW\n"
    "h0uv+85RoNVAEAcLgcDu00+xxB1pWG5pdq0l8LCof4sKXPQwU3eiVD35gA2pePJk\n"
    "1CEsF8qwJ8uBpm+SNBrB8flAfEPtbGjqaz03ADIOlORCkoBOBudxmu1qDir2c4P/\n"
    "vIFSNc4uAPKMHYJjXX7fZq/xh3t2t6fLIVWsmxIMY3l4TcGNjSte0jwlDfx3R29O\n"
    "GAWQQ2d6NsHRMvE5ZcydlBk6NWLXMe6jrKu6kyjdVlXXgVVA0c+idflbKk3gxrhz\n"
    "njdduFQFAgMBAAECggEABMF9Rfc4aIeETXr++aYn+iOc7LHHfiWS3WZ5FAljbHKK\n"
    "m0wFFn9f6mHLKy81T7XvP3KwJ+Sr4dP25ot5U++ammpJl6uo6dOqXdM+A1Bwhyi2\n"
    "RN4NA7a+Pi1bvRHOYHoV1QYvOiadmVoYepRIgbt4ZAt/fcP5mT8lQc+YKYEPYxcU\n"
    "GzgCR1iFhAg+HvuYlbznUHZX0qVEwdkWDvLFOv8l5MLOagd71cJOZiQTfenPSeDg\n"
    "fnK6wWUwqLHx+QqRslJqG8OdiYuTG655NnmwUFdloLmCGO/r6CKhHjYKkZRCIy76\n"
    "+J3hNVmsXXimIbeFwpF0VjyFNzfHsKWVUXdY2o7BmQKBgQDbOoAj2HvWD7+4yuPj\n"
    "62WSOwwwk4pIOdfP2ztJETfxK7vpJEsmaVqxpDIu1wGwYoAfV0kXf+VMPBbyGbue\n"
    "uawPTB37bG47X/ACX1ZkfUi0/xMzjWtzADyGLHa2cVZivY4XmzqM5aTm1kavVxqO\n"
    "38Rg5zhjUr0nIrFp9oOm6bbv/QKBgQDKZbJMLVMD+SwzleceUB/9pRQEjcGBjxxW\n"
    "/40LumgvzfWTF3lCx6F5x6W7uNscF0oqMve2D2Q6WikOnSr/XBpHAUTG8cQR6mEo\n"
    "G8q8FTEDHGoDk+PYVFjSubIvIE4eHGY2Hbbes34nYrQrRZ7C8xV9S9P/NBiaK/t5\n"
    "Hl/0grleqQKBgAHd16V2fGdwLuO15obUREMgeZQYTX8b7vh4F2Mh4GYPR0RO6Mzk\n"
    "7L7CdSLs9bi4vfqGVbr7fcpOYKujCHPrhMmEjmTLoYyj3nlGsoecgXf5DALOW3HZ\n"
    "OKqzyjb3dBLXJlSRH8h/VA4bGPL5POKmiReCIHrIA5BHvVb3oFtVdhdJAoGAUJq3\n"
    "q0bRrN9rDxA//v6B/w3jLv0Vd3d7HdqgXW9bVs57Yp0SmdnPISS1iFFSUZmk27F4\n"
    "nXT7wZFukHdfTFtty6FhtqlKIKhrEQIgd08pOcfzIIGhV+IfjayOnd4LvkopGpwy\n"
    "2/Y344+XmTQcyh7tC/1K7HPe6GdjuxSxujrlgCECgYEApwT/akbEFeQE6yxHgUpt\n"
    "HIX2WY+cHvRSqqx72tIu4MfflNwquWO+ifi6khS4JVZ+fHqJkiB3YwVaFhCKwWpO\n"
    "fI0EDuz7QtJ1/Rjcfri2bxaRYLVjS128N4dSkVkxDCx0yJcycvE3p7ke9ZkerkUW\n"
    "pNUYRHQeVSk+cqmQpZzlEiM=\n"
    "-----END PRIVATE KEY-----\n";

static const char dkim_test_key_rsa1024[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAN26AhaaxbCNZUE9\n"
    "ZtZtKFFBPfLNFMXb/Sec9DULcczN1deAGqU0Jx1vMlyCAQDlEukaYLvlIF5VKJGS\n"
    "ZbskUIxNfcwxrMbCqkdIVkkUGQB6IPGKq6rlrOwe4A77EWfva/Z3mgPd8NQPJJM7\n"
    "KQl8aTpB2nHWEnPDptnuqk+fEnjLAgMBAAECgYBlodVDNz5WZvl6pgJ1VyOb2yPi\n"
    "H07eQrAPcEof5lcLYW4bkYSlJPqo60dST+TV3CqG3qhod+YWV0J5N3maBlNEofQF\n"
    "q218ROwSo9VdX97jvRQaHRvz67CMaCtSb+uQyS0Dku/ghWkvDapnN2RJJyfDQFq3\n"
    "cXHIveye0tGrIEQKAQJBAPCZodXFVUaCQTmnsw3WnHMKh9OPLzB7RZJf2JPpG7lw\n"
    "7YbvSSfkhyAQR8z/QgtP8H8DdN12OYCbQvZxldu0qmECQQDr6x9jLAfcNoyAMdBo\n"
    "DiMooaJ+0IbSz/Qx5cWuSCE4P8immT8zItQi4WTYNwAie/xy4w6X27+vMcu+ED8q\n"
    "qOqrAkAjc+/16QsExcLItR5cRqhtBzs2gF3Kvg9lXzwxp2LPc4V8oZvdBf6nSd7a\n"
    "pS5dLl1YyfCZhYc5nSdD2z7izf9hAkEA32xy80bVwtXeReHnT0RkQ6yf6Z2usaPD\n"
    "ziWfCyjAXTb63dwwIEuRv97Z1HJyLDZjpKIoReUVKePs4nkceVgztQJBANiLy+s1\n"
    "Cmx3RHl/uQ7oK1oXvhI0nWdcFo7sgEJ7CeaQjUBimo9xlxQDk4L7cdHk2TZ+LY2d\n"
    "3m35DYgdCzxoBT8=\n"
    "-----END PRIVATE KEY-----\n";

static const char dkim_test_key_rsa512[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA1kBDJx2ZGd2BNkil\n"
    "vHY3pIiO3wEblfhRQNj76OWvouM87KPKv9jUBn+EOO91ePnBCwEtji33PlQNsnzZ\n"
    "ENxtewIDAQABAkBD26SpPemg1JQ5Mjc0AqlK9mlx3jLzg+uQQ2k98Yl4aDWj27fF\n"
    "kyCBaPrgsPrT2/hmJ+xNJ/J5k2+ioV1EsnXxAiEA/pdBSYgzbShmC3v4DaYYWYYL\n"
    "SKGND8CDiF2/7b5ladkCIQDXb9juvqvNQEcsxQ8KuPVn1qbO5XKSscAtPx4uFLdJ\n"
    "cwIhAL+qqcktE+JbJrAArZfA8tX7F2Wf0i4Itj2krsjSrVDJAiB+lRZGeTvi1pC7\n"
    "anHDIBf5UjMiv8hJDy3WqA5ojv1+pwIhANzLVmA9GaoRrciS77o0PivhgSOksAgj\n"
    "+mFPdmGC0flO\n"
    "-----END PRIVATE KEY-----\n";

static const char dkim_test_key_ed25519[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEICujH2dysaZe4X0VWL0387T+GP4lDxZWFneYzZoMFYEL\n"
    "-----END PRIVATE KEY-----\n";

#endif
