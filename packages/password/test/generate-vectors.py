"""Recomputes the password test vectors in vectors.ts.

Needs: a Mosquitto password file `mosq` made with
  mosquitto_passwd -b -c mosq alice 'Tr0ub4dor&3-mqtt'; mosquitto_passwd -H sha512 -b mosq bob 'Tr0ub4dor&3-mqtt'
  mosquitto_passwd -b mosq carol 'pässwörd-€-carol'
libxcrypt (crypt(3) with bcrypt) and the reference `argon2` CLI (Debian package argon2).
"""
import hashlib, base64, json, ctypes, subprocess
b64=lambda b: base64.b64encode(b).decode()
b64u=lambda b: base64.b64encode(b).decode().rstrip('=')
out={}
PW='Tr0ub4dor&3-mqtt'.encode()
# verify mosquitto_passwd output independently
for line in open('mosq').read().splitlines():
    u,h=line.split(':',1)
    pw = 'pässwörd-€-carol'.encode() if u=='carol' else PW
    parts=h.split('$')
    if parts[1]=='7':
        it=int(parts[2]); salt=base64.b64decode(parts[3]); hh=base64.b64decode(parts[4])
        assert hashlib.pbkdf2_hmac('sha512',pw,salt,it,64)==hh, u
    else:
        salt=base64.b64decode(parts[2]); hh=base64.b64decode(parts[3])
        assert hashlib.sha512(pw+salt).digest()==hh, u
    out['mosquitto_passwd_'+u]=h
# Mosquitto 2.1 layouts: 64-byte salt, 1000 iterations / $6$ with 64-byte salt
salt64=bytes(range(64))
out['mosq21_pbkdf2']='$7$1000$%s$%s'%(b64(salt64),b64(hashlib.pbkdf2_hmac('sha512',PW,salt64,1000,64)))
out['mosq21_sha512']='$6$%s$%s'%(b64(salt64),b64(hashlib.sha512(PW+salt64).digest()))
# binary password against $6$
bs=bytes.fromhex('a1a2a3a4a5a6a7a8a9aaabac')
out['mosq_sha512_binary']='$6$%s$%s'%(b64(bs),b64(hashlib.sha512(bytes([0xff,0xfe,0x00,0x41,0x80])+bs).digest()))
# go-auth native
gs=bytes.fromhex('00112233445566778899aabbccddeeff')
out['goauth_sha512']='PBKDF2$sha512$100000$%s$%s'%(b64(gs),b64(hashlib.pbkdf2_hmac('sha512',PW,gs,100000,32)))
out['goauth_sha256']='PBKDF2$sha256$1000$%s$%s'%(b64(gs),b64(hashlib.pbkdf2_hmac('sha256',PW,gs,1000,32)))
us='utf8SaltText'
out['goauth_utf8']='PBKDF2$sha256$1000$%s$%s'%(us,b64(hashlib.pbkdf2_hmac('sha256',PW,us.encode(),1000,32)))
out['goauth_phc']='$pbkdf2-sha512$i=1000,l=64$%s$%s'%(b64u(gs),b64u(hashlib.pbkdf2_hmac('sha512',PW,gs,1000,64)))
out['goauth_phc_utf8']='$pbkdf2-sha512$l=32,i=1000$%s$%s'%(us,b64u(hashlib.pbkdf2_hmac('sha512',PW,us.encode(),1000,32)))
# EMQX
es='6d1e5cbd0d4ea5eb2d1c7a5e3f0b9a11'
for alg,py in [('md5','md5'),('sha','sha1'),('sha256','sha256'),('sha512','sha512')]:
    out['emqx_%s_prefix'%alg]=hashlib.new(py,es.encode()+PW).hexdigest()
    out['emqx_%s_suffix'%alg]=hashlib.new(py,PW+es.encode()).hexdigest()
    out['emqx_%s_disable'%alg]=hashlib.new(py,PW).hexdigest()
out['emqx_pbkdf2_sha256_32']=hashlib.pbkdf2_hmac('sha256',PW,es.encode(),1000,32).hex()
out['emqx_pbkdf2_sha_default']=hashlib.pbkdf2_hmac('sha1',PW,es.encode(),1000).hex()
out['emqx_pbkdf2_sha512_16']=hashlib.pbkdf2_hmac('sha512',PW,es.encode(),1000,16).hex()
# bcrypt via libxcrypt crypt(3)
lib=ctypes.CDLL('libcrypt.so.1'); lib.crypt.restype=ctypes.c_char_p
for v in 'aby':
    out['bcrypt_2'+v]=lib.crypt(PW, ('$2%s$05$abcdefghijklmnopqrstuu'%v).encode()).decode()
out['bcrypt_utf8']=lib.crypt('pässwörd-€-carol'.encode(), b'$2b$05$0123456789ABCDEFGHIJKu').decode()
# argon2 reference CLI
def a2(args, salt, pw=PW):
    return subprocess.run(['argon2', salt]+args+['-e'], input=pw, capture_output=True, check=True).stdout.decode().strip()
out['argon2id']=a2(['-id','-t','2','-k','1024','-p','1','-l','32'],'saltsaltsaltsalt')
out['argon2i']=a2(['-i','-t','2','-k','1024','-p','2','-l','32'],'saltsaltsaltsalt')
out['argon2d']=a2(['-d','-t','1','-k','512','-p','1','-l','24'],'somesaltsomesalt')
out['argon2id_v16']=a2(['-id','-t','1','-k','256','-p','1','-l','32','-v','10'],'saltsaltsaltsalt')
out['argon2id_mosq21']=a2(['-id','-t','1','-k','47104','-p','1','-l','64'],'S'*64)
print(json.dumps(out,indent=1,ensure_ascii=False))
